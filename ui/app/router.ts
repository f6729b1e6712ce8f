// Hash routes, as RabbitMQ's UI has them (#/queues/%2F/orders): a reload or a shared link
// opens the same page, and the server only ever serves index.html.
import { useEffect, useState } from 'preact/hooks';

/** The decoded segments of the current hash: '#/queues/%2F/q' is ['queues', '/', 'q']. */
export function currentRoute(): string[] {
  const h = location.hash.replace(/^#\/?/, '');
  if (h === '') return [];
  return h.split('/').map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
}

export function href(...segments: string[]): string {
  return `#/${segments.map((s) => encodeURIComponent(s)).join('/')}`;
}

export function go(...segments: string[]): void {
  location.hash = href(...segments);
}

export function useRoute(): string[] {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const on = (): void => setRoute(currentRoute());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}
