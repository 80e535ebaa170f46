import type { ParsedUrlQuery } from "node:querystring";
import { badRequest } from "../errors.js";

/**
 * The value of query parameter `name`, or undefined when it is absent. Given
 * more than once (`?ttl=5&ttl=99`) it is refused: which one was meant cannot
 * be told, and taking either would act on what the client did not ask for.
 */
export function queryValue(query: ParsedUrlQuery, name: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) throw badRequest(`'${name}' is given ${value.length} times in the query; give it once`);
  return value;
}
