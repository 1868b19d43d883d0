/**
 * Built-ins over identities (the system prompts of llm and agent nodes): soe_get_identities,
 * soe_inject_identity, soe_remove_identity. Identities belong to the main execution, so a child and
 * its parent see the same ones. Each change is one putIdentity / deleteIdentity call.
 */
import type { ToolContext } from '../nodes/types.js';
import type { IdentityBackend } from '../types.js';
import { type BuiltinSpec, fail, isReserved, logChange, nameList, optionalString, requireName } from './shared.js';

function identityBackend(ctx: ToolContext): IdentityBackend {
  const backend = ctx.backends.identity;
  if (!backend) fail('this engine has no identity backend, so identities cannot be read or changed');
  return backend;
}

const getIdentities: BuiltinSpec = {
  description:
    'Returns the identities of this run: identity name → system prompt. With identity_name, that one as {identity_name, system_prompt}; ' +
    'with list_only, just {identity_names}.',
  parameters: {
    type: 'object',
    properties: {
      identity_name: { type: 'string', description: 'Return only this identity (optional).' },
      list_only: { type: 'boolean', description: 'Return only the names.' },
    },
  },
  async run(args, ctx) {
    const identities = (await ctx.backends.identity?.getIdentities(ctx.mainExecutionId)) ?? {};
    const one = optionalString(args, 'identity_name');
    if (one !== undefined) {
      if (!Object.hasOwn(identities, one)) return { error: `identity '${one}' not found`, available: Object.keys(identities) };
      return { identity_name: one, system_prompt: identities[one] };
    }
    if (args.list_only === true) return { identity_names: Object.keys(identities) };
    return identities;
  },
};

const injectIdentity: BuiltinSpec = {
  description: 'Adds an identity (a named system prompt that llm and agent nodes select with `identity:`), or replaces its prompt.',
  parameters: {
    type: 'object',
    properties: {
      identity_name: { type: 'string', description: 'Name of the identity.' },
      system_prompt: { type: 'string', description: 'The system prompt text.' },
    },
    required: ['identity_name', 'system_prompt'],
  },
  async run(args, ctx) {
    const name = requireName(args, 'identity_name');
    if (isReserved(name)) fail(`'identity_name': names starting with __ are reserved`);
    if (typeof args.system_prompt !== 'string') fail(`'system_prompt' is required: give the prompt text`);
    const backend = identityBackend(ctx);
    const existed = (await backend.getIdentity(ctx.mainExecutionId, name)) !== null;
    await backend.putIdentity(ctx.mainExecutionId, name, args.system_prompt);
    const action = existed ? 'updated' : 'created';
    await logChange(ctx, 'soe_inject_identity', { identity_name: name, action });
    return { success: true, identity_name: name, action, message: `${existed ? 'Updated' : 'Created'} identity '${name}'` };
  },
};

const removeIdentity: BuiltinSpec = {
  description: 'Removes an identity. Nodes that name it run without a system prompt afterwards.',
  parameters: {
    type: 'object',
    properties: { identity_name: { type: 'string', description: 'The identity to remove.' } },
    required: ['identity_name'],
  },
  async run(args, ctx) {
    const name = requireName(args, 'identity_name');
    const backend = identityBackend(ctx);
    if (!(await backend.deleteIdentity(ctx.mainExecutionId, name))) {
      const known = Object.keys((await backend.getIdentities(ctx.mainExecutionId)) ?? {});
      fail(`identity '${name}' not found (identities: ${nameList(known)})`);
    }
    await logChange(ctx, 'soe_remove_identity', { identity_name: name, action: 'removed' });
    return { success: true, removed: true, identity_name: name, message: `Removed identity '${name}'` };
  },
};

/** The identity built-ins by name. */
export const identityBuiltins: Record<string, BuiltinSpec> = {
  soe_get_identities: getIdentities,
  soe_inject_identity: injectIdentity,
  soe_remove_identity: removeIdentity,
};
