from .window import InjectWindow  # noqa
