/**
 * Removes `item` from `list` without keeping the order: the last item takes
 * its place. For the short lists a session keeps per request (rarely more
 * than two entries), where a Map or Set emptied after every request would
 * reallocate its table each time. Returns whether `item` was there.
 */
export function removeUnordered<T>(list: T[], item: T): boolean {
  const at = list.indexOf(item);
  if (at < 0) return false;
  list[at] = list[list.length - 1] as T;
  list.pop();
  return true;
}
