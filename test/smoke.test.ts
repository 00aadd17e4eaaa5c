import { env, exports } from "cloudflare:workers";
import { it, expect } from "vitest";
it("works", async () => {
  const r = await exports.default.fetch("http://x/");
  expect(await r.text()).toBe("b");
  const stub = env.FLAG_STORE.get(env.FLAG_STORE.idFromName("p"));
  expect(await stub.ping()).toBe(1);
});
