// Fixes to the sources of native addons that npm builds here, applied before
// they are (re)built. Each one is a leak found in Tessera's churn benches;
// each is a whole, exact text replacement, so a fix is applied once, and a
// release that changed the code around it is left alone (and said so).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** @typedef {{ file: string, why: string, from: string, to: string }} Fix */

/** @type {Record<string, Fix[]>} by package name */
export const ADDON_FIXES = {
  "gstreamer-superficial": [
    {
      file: "GLibHelpers.cpp",
      why: "a bus message field converted to a string (every GstState of every state-changed message) leaked that string",
      from: "\t\tg_value_transform(gv, &b);\n\t\treturn gchararray_to_v8(&b);\n",
      to: "\t\tg_value_transform(gv, &b);\n\t\tLocal<Value> v = gchararray_to_v8(&b);\n\t\tg_value_unset(&b);\n\t\treturn v;\n",
    },
    {
      file: "Pipeline.cpp",
      why: "an error message's element path and GError leaked",
      from: '\t\t\tNan::Set(m,Nan::New("message").ToLocalChecked(), Nan::New(err->message).ToLocalChecked());\n\t\t}\n',
      to:
        '\t\t\tNan::Set(m,Nan::New("message").ToLocalChecked(), Nan::New(err->message).ToLocalChecked());\n' +
        "\t\t\tg_error_free(err);\n\t\t\tg_free(name);\n\t\t}\n",
    },
    {
      file: "Pipeline.cpp",
      why: "the request of a bus poll that ended (the pipeline stopped) was never freed",
      from: "\tif(GST_STATE(br->obj->pipeline) != GST_STATE_NULL)\n\t\tuv_queue_work(Nan::GetCurrentEventLoop(), &br->request, _doPollBus, _polledBus);\n}\n",
      to:
        "\tif(GST_STATE(br->obj->pipeline) != GST_STATE_NULL)\n\t\tuv_queue_work(Nan::GetCurrentEventLoop(), &br->request, _doPollBus, _polledBus);\n" +
        "\telse {\n\t\tNan::HandleScope scope;\n\t\tdelete br;\n\t}\n}\n",
    },
    {
      file: "Pipeline.cpp",
      why: "a bus poll waited with no timeout, so a quiet pipeline's poll held its threadpool thread for good and process.exit() (which joins those threads) hung; it also kept a reference to the bus per poll",
      from: "\tif(!bus) return;\n\tbr->msg = gst_bus_timed_pop(bus, GST_CLOCK_TIME_NONE);\n}\n",
      to: "\tbr->msg = NULL;\n\tif(!bus) return;\n\tbr->msg = gst_bus_timed_pop(bus, 250 * GST_MSECOND);\n\tgst_object_unref(bus);\n}\n",
    },
    {
      file: "GObjectWrap.cpp",
      why: "an appsink pull waited with no timeout, so a pull on a running pipeline with no data held its threadpool thread for good and process.exit() hung (a pull that times out answers with no buffer, like one on a stopped pipeline)",
      from: "\t\t\tsample = gst_app_sink_pull_sample(appsink);\n",
      to: "\t\t\tsample = gst_app_sink_try_pull_sample(appsink, 250 * GST_MSECOND);\n",
    },
  ],
};

/**
 * Applies the fixes under `nodeModules`; returns the packages whose sources
 * changed (to be rebuilt). `say` hears of a fix whose text is not there.
 */
export function applyAddonFixes(nodeModules, say = () => {}) {
  const changed = [];
  for (const [pkg, fixes] of Object.entries(ADDON_FIXES)) {
    let touched = false;
    for (const fix of fixes) {
      const path = join(nodeModules, pkg, fix.file);
      let text;
      try {
        text = readFileSync(path, "utf8");
      } catch {
        say(`${pkg}: no ${fix.file}; not fixed: ${fix.why}`);
        continue;
      }
      if (text.includes(fix.to)) continue;
      if (!text.includes(fix.from)) {
        say(`${pkg}: ${fix.file} changed upstream; not fixed: ${fix.why}`);
        continue;
      }
      writeFileSync(path, text.replace(fix.from, fix.to));
      touched = true;
    }
    if (touched) changed.push(pkg);
  }
  return changed;
}
