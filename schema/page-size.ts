/**
 * Page sizes of every connection (`first`/`last`): what a page holds when neither is given, and the
 * most it holds whatever is asked. The relay resolvers and the query cost model share them, so an
 * operation is priced by the page it can really get.
 */
export const PAGE_SIZE = { defaultSize: 20, maxSize: 100 } as const;
