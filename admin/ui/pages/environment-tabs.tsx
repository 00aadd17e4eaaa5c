/** The environment tabs of a page that shows one environment at a time (`?env=`). */
export function EnvironmentTabs({ path, environments, current }: { path: string; environments: string[]; current: string }) {
  return (
    <nav class="tabs" aria-label="Environment">
      {environments.map((env) => (
        <a href={`${path}?env=${encodeURIComponent(env)}`} aria-current={env === current ? "page" : undefined}>
          {env}
        </a>
      ))}
    </nav>
  );
}
