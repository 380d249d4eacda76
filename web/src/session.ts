/** The API token lives in sessionStorage only: it goes when the tab closes, and never to disk. */
const KEY = 'orrery.token';

export const session = {
  token: (): string | null => sessionStorage.getItem(KEY),
  save: (token: string): void => sessionStorage.setItem(KEY, token),
  clear: (): void => sessionStorage.removeItem(KEY),
};
