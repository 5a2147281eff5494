// Walking offset-paged lists (`{<items>, total, limit, offset}`) page by page.

/**
 * Every item of every page, fetching a page when the previous one is used up.
 * @template T
 * @param {(offset: number) => Promise<{ items: T[], total: number }>} page
 * @param {number} [offset]
 * @returns {AsyncGenerator<T, void, undefined>}
 */
export async function* everyPage(page, offset = 0) {
  for (;;) {
    const { items, total } = await page(offset);
    yield* items;
    offset += items.length;
    if (items.length === 0 || offset >= total) return;
  }
}

/** Page size the iterators ask for: the most the server gives. */
export const MAX_PAGE = 100;
