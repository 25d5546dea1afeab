"""Chinese number formats: Django's, but with numbers grouped in threes by commas (12,345).

Django's zh_Hans has no thousands separator (and groups by 4), so ``intcomma`` printed
"12345" in Chinese. Points malls in China (JD, Taobao) group points and prices as 12,345,
as English does; docs/decisions/0058.
"""

from django.conf.locale.zh_Hans.formats import *  # type: ignore[import-untyped]  # noqa: F403 (the rest stays Django's)

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
