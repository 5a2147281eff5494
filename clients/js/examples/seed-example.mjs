// The JavaScript SDK example of the API documentation Phony was made from (SEED-API.md, "SDK
// Examples"), as written there. Changed: the base URL, the key and the phone number come from the
// environment, and, since the seed's text uses a `callSid` it never defines, the call is placed as
// in the seed's Python example (`client.calls.create`), between creating the agent and listening.
//
//   PHONY_API_KEY=pk_live_... PHONY_PHONE_NUMBER=+15551234567 node examples/seed-example.mjs
//
// It ends once the call has ended (the subscription stops after `call.ended`).
import { PhonyClient } from 'phony-client';

// Initialize client
const client = new PhonyClient({
    baseUrl: process.env.PHONY_BASE_URL ?? 'http://localhost:24187',
    apiKey: process.env.PHONY_API_KEY ?? 'your-api-key'
});

// Create an agent
const agent = await client.agents.create({
    name: 'Support Bot',
    systemPrompt: 'You are a technical support agent',
    voice: 'echo',
    phoneNumbers: [process.env.PHONY_PHONE_NUMBER ?? '+15551234567']
});

// Make a call (from the seed's Python example)
const { callSid } = await client.calls.create({
    agentId: agent.id,
    toNumber: process.env.PHONY_TO_NUMBER ?? '+15559876543',
    scenario: 'customer_support'
});

// Listen for events
client.events.subscribe(callSid, (event) => {
    console.log('Event received:', event);
});
