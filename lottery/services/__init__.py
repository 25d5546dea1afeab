"""The lottery's write surface: publishing campaigns, drawing, revealing seeds. The only code that writes its tables."""

from lottery.services.campaigns import (
    lottery_campaign_create,
    lottery_campaign_publish,
    lottery_campaign_validate,
    lottery_seed_new,
)
from lottery.services.draws import (
    DrawResult,
    lottery_draw,
    lottery_draw_confirmation_read,
    lottery_draw_confirmation_sign,
    lottery_draw_cost,
    lottery_draw_open_check,
)
from lottery.services.fulfilment import fulfiller_register, fulfillers
from lottery.services.seeds import lottery_seeds_reveal

__all__ = [
    "DrawResult",
    "fulfiller_register",
    "fulfillers",
    "lottery_campaign_create",
    "lottery_campaign_publish",
    "lottery_campaign_validate",
    "lottery_draw",
    "lottery_draw_confirmation_read",
    "lottery_draw_confirmation_sign",
    "lottery_draw_cost",
    "lottery_draw_open_check",
    "lottery_seed_new",
    "lottery_seeds_reveal",
]
