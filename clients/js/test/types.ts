// Not run: type-checked by `tsc --noEmit`, as a TypeScript user of the package would write it.
import {
  PhonyClient,
  type ConnectionState,
  RateLimitedError,
  ValidationError,
  type Agent,
  type PhonyEvent,
  type SubscriptionEnd,
} from 'phony-client';

export async function usage(): Promise<SubscriptionEnd> {
  const client = new PhonyClient({ baseUrl: 'http://localhost:24187', apiKey: 'pk_live_x' });
  const agent: Agent = await client.agents.create({ name: 'Bot', systemPrompt: 'x', phoneNumbers: ['+15551234567'] });
  // @ts-expect-error the SDK's names are camelCase
  await client.agents.create({ name: 'Bot', system_prompt: 'x' });
  // @ts-expect-error voices are the server's
  await client.agents.create({ name: 'Bot', voice: 'robot' });
  for await (const a of client.agents.iterate({ isActive: true })) a.phoneNumbers.join(',');
  const { callSid } = await client.calls.create({ agentId: agent.id, toNumber: '+15559876543' });
  const call = await client.calls.get(callSid);
  const seq: number = call.lastSeq;
  await client.overrides.approve(callSid, 'resp_1', { text: 'ok' });
  try {
    await client.tenants.me();
  } catch (error) {
    if (error instanceof RateLimitedError) console.log(error.retryAfter ?? 0);
    if (error instanceof ValidationError) console.log(error.details.field, error.status, error.code);
  }
  const unsubscribe = client.events.subscribe(callSid, (event: PhonyEvent) => console.log(event.seq, event.data), {
    since: seq,
    onError: (error) => console.log(error.message),
    onState: (change: ConnectionState) => {
      if (change.state === 'reconnecting') console.log(change.attempt, change.delayMs, change.error.status);
      if (change.state === 'closed') console.log(change.reason, change.error?.code, change.lastSeq);
      // @ts-expect-error only a reconnect says how long it waits
      if (change.state === 'open') console.log(change.delayMs);
      // @ts-expect-error the states are the SDK's
      if (change.state === 'dropped') console.log(change);
    },
  });
  unsubscribe();
  return unsubscribe.done;
}
