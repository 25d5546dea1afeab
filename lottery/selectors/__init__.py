"""Reads of the lottery: campaign pages, odds, my draws, winners, verification, reports."""
