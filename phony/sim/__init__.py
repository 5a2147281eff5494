"""Faithful stand-ins for the outside world: OpenAI Realtime, Twilio, and the other party of a call.

Nothing here imports the product: the product reaches these through the real `openai` and `twilio`
clients, with only URLs and keys changed.
"""
