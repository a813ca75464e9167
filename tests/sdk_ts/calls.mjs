// Runs calls of Dub's TypeScript SDK against a server and prints what each returned or threw.
//
//   node calls.mjs SERVER_URL < calls.json
//
// calls.json: [{"op": "lead" | "sale", "token": "...", "request": {...}, "headers": {...}}, ...]
// Prints one JSON array: {"ok": true, "result": ...} or {"ok": false, "error": ClassName,
// "status": ..., "code": ..., "message": ...} per call, in order. The SDK retries nothing here,
// so each call is exactly one request.
import { readFileSync } from "node:fs";
import { Dub } from "dub";

const serverURL = process.argv[2];
const calls = JSON.parse(readFileSync(0, "utf8"));
const outcomes = [];
for (const call of calls) {
  const dub = new Dub({ token: call.token, serverURL, retryConfig: { strategy: "none" } });
  const track = call.op === "lead" ? dub.track.lead : dub.track.sale;
  try {
    const result = await track.call(dub.track, call.request, { headers: call.headers ?? {} });
    outcomes.push({ ok: true, result });
  } catch (error) {
    outcomes.push({
      ok: false,
      error: error.name,
      status: error.statusCode ?? null,
      code: error.error?.code ?? null,
      message: error.message,
    });
  }
}
process.stdout.write(JSON.stringify(outcomes));
