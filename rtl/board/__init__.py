"""The lab build for the Lattice ECP5-5G Evaluation Board (rtl/board/lab_top.py)."""
