"""Package discovery: the fixed top-level folders become subpackages of `tickwire`.

rtl/ -> tickwire.rtl, control/ -> tickwire.control, tools/ -> tickwire.tools;
tickwire/ holds the CLI and the reference models. Everything else is in pyproject.toml.
"""
from setuptools import find_packages, setup

ROOTS = {"tickwire": "tickwire", "tickwire.rtl": "rtl",
         "tickwire.control": "control", "tickwire.tools": "tools"}

packages, package_dir = [], {}
for pkg, folder in ROOTS.items():
    package_dir[pkg] = folder
    packages.append(pkg)
    packages += [f"{pkg}.{sub}" for sub in find_packages(folder)]

setup(packages=packages, package_dir=package_dir,
      package_data={"": ["*.proto", "*.cpp", "*.h", "*.itch", "*.yaml"]})
