from .feed_merge import FeedMerge  # noqa
