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
      file: "GLibHelpers.cpp",
      why: "a caps property set from a string kept a second reference to its caps (gst_caps_from_string, then g_value_set_boxed): about 540 bytes per set, never freed",
      from: "\t        g_value_set_boxed(gv, caps);\n",
      to: "\t        g_value_take_boxed(gv, caps);\n",
    },
    {
      file: "GObjectWrap.cpp",
      why: "the value of every property set (a string's copy, a caps) was never unset",
      from: "\t\tv8_to_gvalue( value, &gv, spec);\n\t\tg_object_set_property( o, *name, &gv );\n",
      to: "\t\tv8_to_gvalue( value, &gv, spec);\n\t\tg_object_set_property( o, *name, &gv );\n\t\tif (G_IS_VALUE(&gv)) g_value_unset(&gv);\n",
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
    {
      file: "GObjectWrap.cpp",
      why: "an appsink pull answered with a new Buffer per sample (1.4 MB per 720p frame, 30 a second, which V8 pays back in major GCs); pull(cb, into) now copies a sample that fits into the caller's Buffer and answers (into, bytes)",
      from: '\t\tPullWorker(Nan::Callback *callback, GstAppSink *appsink)\n\t\t: AsyncWorker(callback,"node-gst-superficial.PullWorker"), appsink(appsink) {};\n',
      to:
        "\t\tPullWorker(Nan::Callback *callback, GstAppSink *appsink, Local<Value> into)\n" +
        '\t\t: AsyncWorker(callback,"node-gst-superficial.PullWorker"), appsink(appsink), hasInto(node::Buffer::HasInstance(into)) {\n' +
        '\t\t\tif (hasInto) SaveToPersistent("into", into);\n' +
        "\t\t};\n",
    },
    {
      file: "GObjectWrap.cpp",
      why: "(the same) the copy into the caller's Buffer",
      from: "\t\t\t\tbuf = gstsample_to_v8(sample);\n\t\t\t\tgst_sample_unref(sample);\n",
      to:
        "\t\t\t\tGstBuffer *gbuf = gst_sample_get_buffer(sample);\n" +
        "\t\t\t\tGstMapInfo map;\n" +
        "\t\t\t\tif (hasInto && gbuf && gst_buffer_map(gbuf, &map, GST_MAP_READ)) {\n" +
        '\t\t\t\t\tLocal<Object> into = Nan::To<Object>(GetFromPersistent("into")).ToLocalChecked();\n' +
        "\t\t\t\t\tif (map.size <= node::Buffer::Length(into)) {\n" +
        "\t\t\t\t\t\tmemcpy(node::Buffer::Data(into), map.data, map.size);\n" +
        "\t\t\t\t\t\tbuf = into;\n" +
        "\t\t\t\t\t\tbytes = Nan::New<Number>((double) map.size);\n" +
        "\t\t\t\t\t}\n" +
        "\t\t\t\t\tgst_buffer_unmap(gbuf, &map);\n" +
        "\t\t\t\t}\n" +
        "\t\t\t\tif (buf.IsEmpty()) buf = gstsample_to_v8(sample);\n" +
        "\t\t\t\tgst_sample_unref(sample);\n",
    },
    {
      file: "GObjectWrap.cpp",
      why: "(the same) the byte count, the third argument",
      from: "\t\t\tLocal<Value> argv[] = { buf, caps };\n\t\t\tcallback->Call(2, argv, async_resource);\n\t\t}\n\n\tprivate:\n\t\tGstAppSink *appsink;\n",
      to:
        "\t\t\tLocal<Value> argv[] = { buf, caps, bytes.IsEmpty() ? Nan::Undefined().As<Value>() : bytes };\n" +
        "\t\t\tcallback->Call(3, argv, async_resource);\n\t\t}\n\n\tprivate:\n\t\tGstAppSink *appsink;\n\t\tbool hasInto;\n",
    },
    {
      file: "GObjectWrap.cpp",
      why: "(the same) the declaration of the byte count",
      from: "\t\t\tLocal<Value> buf;\n\t\t\tLocal<Object> caps = Nan::New<Object>();\n",
      to: "\t\t\tLocal<Value> buf;\n\t\t\tLocal<Value> bytes;\n\t\t\tLocal<Object> caps = Nan::New<Object>();\n",
    },
    {
      file: "GObjectWrap.cpp",
      why: "(the same) pull's second argument",
      from: "\tAsyncQueueWorker(new PullWorker(callback, GST_APP_SINK(obj->obj)));\n",
      to: "\tAsyncQueueWorker(new PullWorker(callback, GST_APP_SINK(obj->obj), info[1]));\n",
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
