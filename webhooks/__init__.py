"""Webhook receiver: authenticate, parse, de-duplicate, store and apply events.

Invariant: an event is acknowledged (HTTP 200) only after the transaction
that stored it committed; nothing acknowledged is ever lost, and the same
event delivered again (Instantly retries, with no event id) is stored once.
"""
