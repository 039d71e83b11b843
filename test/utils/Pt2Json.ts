/**
 * The `models/model.json` of a `.pt2` archive as JSON, without `torch_version` (which trtx's writer stamps).
 */
import { Effect } from "effect"
import * as Zip from "../../src/archive/zip/Zip.ts"

export const modelJson = (bytes: Uint8Array) =>
  Effect.scoped(Effect.gen(function*() {
    const zip = yield* Zip.open({ _tag: "Bytes", bytes, label: "model.json" })
    const entry = [...zip.entries.keys()].find((n) => n.endsWith("/models/model.json"))!
    const json = JSON.parse(new TextDecoder().decode(yield* zip.read(entry)))
    delete json.torch_version
    return json
  }))
