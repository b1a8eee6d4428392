import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { mmsSearchAttributes } from './search-attributes';
import { SearchAttributeType } from '@temporalio/common';

const indexedType = (t: SearchAttributeType) =>
  t === SearchAttributeType.INT ? temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT : temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;

/** Which of our search attributes the namespace lacks. */
export async function missingSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const listed = await connection.operatorService.listSearchAttributes({ namespace });
  const have = new Set(Object.keys(listed.customAttributes ?? {}));
  return mmsSearchAttributes.filter((k) => !have.has(k.name)).map((k) => k.name);
}

/** Registers the missing ones (a real cluster; the dev server gets them from its start flags). */
export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const missing = new Set(await missingSearchAttributes(connection, namespace));
  if (missing.size === 0) return [];
  const searchAttributes: Record<string, temporal.api.enums.v1.IndexedValueType> = {};
  for (const key of mmsSearchAttributes) if (missing.has(key.name)) searchAttributes[key.name] = indexedType(key.type);
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
  return [...missing];
}
