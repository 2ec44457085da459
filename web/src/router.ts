import { useEffect, useState } from 'preact/hooks';

const listeners = new Set<() => void>();
window.addEventListener('popstate', () => listeners.forEach((fn) => fn()));

/** Navigates inside the console without a reload. */
export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  listeners.forEach((fn) => fn());
  window.scrollTo(0, 0);
}

/** The current path; re-renders on navigation. */
export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const fn = () => setPath(location.pathname);
    listeners.add(fn);
    return () => void listeners.delete(fn);
  }, []);
  return path;
}

/** Same-origin links navigate client-side (a modified click still opens a tab). */
export function onLinkClick(event: MouseEvent): void {
  const a = (event.target as HTMLElement).closest('a');
  if (!a || a.target || a.origin !== location.origin || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  if (a.pathname.startsWith('/api/') || a.pathname.startsWith('/docs')) return;
  event.preventDefault();
  navigate(a.pathname);
}
