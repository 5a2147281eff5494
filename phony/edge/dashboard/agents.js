// Agents: list, create, edit (PATCH), deactivate.

import { $, clickableRow, el, errorText } from './ui.js';

/** @param {string} text */
const list = (text) => text.split(/[\s,]+/).filter(Boolean);

export class AgentsView {
  /** @param {import('/sdk/js/index.js').PhonyClient} client */
  constructor(client) {
    this.client = client;
    this.agents = new Map();
    const form = /** @type {HTMLFormElement} */ ($('agent-form'));
    form.onsubmit = (e) => { e.preventDefault(); this.save(); };
    form.onreset = () => { $('agent-form-title').textContent = 'New agent'; $('agent-error').textContent = ''; form.elements.namedItem('id').value = ''; };
  }

  async show() {
    $('agent-error').textContent = '';
    try {
      this.agents.clear();
      for await (const agent of this.client.agents.iterate()) this.agents.set(agent.id, agent);
      this.render();
    } catch (error) {
      $('agent-error').textContent = errorText(error);
    }
  }

  render() {
    $('agents-rows').replaceChildren(...[...this.agents.values()].map((a) => {
      const deactivate = el('button', { type: 'button', disabled: !a.isActive }, 'Deactivate');
      deactivate.onclick = (e) => { e.stopPropagation(); this.patch(a.id, { isActive: false }); };
      const row = clickableRow([a.name, a.phoneNumbers.join(', '), a.voice, a.requireApproval ? 'held' : '—',
        a.isActive ? 'yes' : 'no', deactivate], () => this.edit(a));
      row.dataset.agentId = a.id;
      return row;
    }));
  }

  edit(agent) {
    const form = /** @type {HTMLFormElement} */ ($('agent-form'));
    const field = (name) => /** @type {HTMLInputElement} */ (form.elements.namedItem(name));
    $('agent-form-title').textContent = `Edit ${agent.name}`;
    field('id').value = agent.id;
    field('name').value = agent.name;
    field('voice').value = agent.voice;
    field('phoneNumbers').value = agent.phoneNumbers.join(', ');
    field('transferAllowlist').value = agent.transferAllowlist.join(', ');
    field('greetingMessage').value = agent.greetingMessage ?? '';
    field('systemPrompt').value = agent.systemPrompt;
    field('requireApproval').checked = agent.requireApproval;
    field('isActive').checked = agent.isActive;
    field('name').focus();
  }

  async save() {
    const form = /** @type {HTMLFormElement} */ ($('agent-form'));
    const field = (name) => /** @type {HTMLInputElement} */ (form.elements.namedItem(name));
    const params = {
      name: field('name').value.trim(),
      voice: field('voice').value,
      systemPrompt: field('systemPrompt').value,
      phoneNumbers: list(field('phoneNumbers').value),
      transferAllowlist: list(field('transferAllowlist').value),
      greetingMessage: field('greetingMessage').value || null,
      requireApproval: field('requireApproval').checked,
      isActive: field('isActive').checked,
    };
    const id = field('id').value;
    $('agent-error').textContent = '';
    try {
      if (id) await this.client.agents.update(id, params);
      else await this.client.agents.create(params);
      form.reset();
      await this.show();
    } catch (error) {
      $('agent-error').textContent = errorText(error);
    }
  }

  async patch(id, changes) {
    try {
      await this.client.agents.update(id, changes);
      await this.show();
    } catch (error) {
      $('agent-error').textContent = errorText(error);
    }
  }
}
