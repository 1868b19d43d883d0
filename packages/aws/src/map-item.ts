/**
 * An item holding a map attribute `m` whose entries are changed one at a time with UpdateItem, so two
 * writers adding different entries (two identities, two schema fields) keep each other's.
 */
import type { SoeTable } from './soe-table.js';

/** Sets one entry of the map item, creating the item when absent. */
export async function putMapEntry(table: SoeTable, pk: string, sk: string, key: string, value: unknown): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const updated = await table.update({
      Key: { pk, sk },
      UpdateExpression: 'SET m.#k = :v',
      ConditionExpression: 'attribute_exists(m)',
      ExpressionAttributeNames: { '#k': key },
      ExpressionAttributeValues: { ':v': value },
    });
    if (updated) return;
    // No item yet: create it with this one entry, unless a concurrent writer just did.
    if (await table.putIfAbsent({ pk, sk, m: { [key]: value } })) return;
  }
  throw Object.assign(new Error(`could not set '${key}' in ${pk}/${sk}: too much contention`), { name: 'ThrottlingException' });
}

/** Removes one entry; resolves false when it was absent. */
export async function deleteMapEntry(table: SoeTable, pk: string, sk: string, key: string): Promise<boolean> {
  return table.update({
    Key: { pk, sk },
    UpdateExpression: 'REMOVE m.#k',
    ConditionExpression: 'attribute_exists(m.#k)',
    ExpressionAttributeNames: { '#k': key },
  });
}
