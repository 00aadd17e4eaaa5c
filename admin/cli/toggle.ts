/**
 * `toggle`: the kill switch from a terminal. Sets a flag's state in one environment (never flips
 * it blindly: running it twice does not undo it) and says what the edge serves from which
 * version, or that nothing changed. An environment whose changes need approval, with its kill
 * switch not exempt, refuses a role's direct change (exit 1, `Service.request`), saying to open a
 * change request.
 */
import type { ToggleOptions } from "./args.ts";
import { CliError, isObject, type Io } from "./io.ts";
import { adminPath, Service } from "./service.ts";

/** Runs `toggle`; returns the exit code (0: set, or already so). */
export async function runToggle(options: ToggleOptions, io: Io): Promise<number> {
  const service = new Service(options.url, options.token, io);
  const where = `${options.project}/${options.env}`;
  const word = options.state === "ENABLED" ? "on" : "off";
  const response = await service.request(
    "POST",
    `${adminPath(options.project, options.env)}/flags/${encodeURIComponent(options.flag)}/toggle`,
    {
      body: JSON.stringify({ state: options.state, ...(options.reason ? { reason: options.reason } : {}) }),
    },
  );
  const answer = await service.json(response, `turning ${options.flag} ${word} in ${where}`);
  if (!isObject(answer) || typeof answer["version"] !== "number" || answer["state"] !== options.state)
    throw new CliError(`${options.url} answered the toggle with something that is not the flag; is it edgeflags?`, 2);
  const version = answer["version"];
  if (answer["changed"] === false) {
    io.print(`nothing to do: ${options.flag} is already ${word} in ${where} (version ${version}); nothing written`);
    return 0;
  }
  const serves =
    options.state === "DISABLED" ? "it serves its off variant, or the caller's code default, to everyone" : "it answers by its rules again";
  io.print(`${options.flag} is ${word} in ${where} from version ${version}: ${serves}`);
  io.print("every edge follows within the propagation bound; the audit log records who and why");
  return 0;
}
