"""The seed's Python SDK example (SEED-API.md, "SDK Examples"), as written there. Only the server,
the key and a free phone number come from the environment: PHONY_BASE_URL (default the seed's
http://localhost:24187), PHONY_API_KEY, and PHONY_EXAMPLE_NUMBER (default the seed's number).

    PHONY_API_KEY=pk_live_... python clients/python/examples/seed_example.py
"""

import os

# The seed's text from here on, kept as written (not reformatted).
# fmt: off
from phony_client import PhonyClient

# Initialize client
client = PhonyClient(
    base_url=os.environ.get("PHONY_BASE_URL", "http://localhost:24187"),
    api_key=os.environ["PHONY_API_KEY"]
)

# Create an agent
agent = client.agents.create(
    name="Support Bot",
    system_prompt="You are a technical support agent",
    voice="echo",
    phone_numbers=[os.environ.get("PHONY_EXAMPLE_NUMBER", "+15551234567")]
)

# Make a call
call = client.calls.create(
    agent_id=agent.id,
    to_number="+15559876543",
    scenario="customer_support"
)

# Monitor call events
for event in client.events.stream(call.call_sid):
    print(f"Event: {event.type} - {event.data}")
# fmt: on
