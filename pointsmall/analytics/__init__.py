"""Traffic of the mall's own pages: page views and unique visitors per day and page type, time
on page, product views and redemption starts. No third-party trackers (docs/decisions/0028)."""
