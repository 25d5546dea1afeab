"""The operators' dashboard on the admin index: daily figures rolled up from the apps, points
liability, product funnels, low stock and risk lists, each chart with a CSV export."""
