-- wrk reporter for bench/serve-bench.mjs: prints one machine-readable line at the end of a run.
--
-- done() runs in wrk's main thread after its load threads have been joined, so /proc/self/stat
-- then holds wrk's own total CPU time (all threads, user + system, in clock ticks): the load
-- generator shares the machine's cores with the server under test, and the bench reports how
-- much of them it took.

local function cpu_ticks()
  local f = io.open("/proc/self/stat", "r")
  if not f then return -1, -1 end
  local s = f:read("*a")
  f:close()
  -- Fields after the ")" that closes the command name: state is field 3, utime 14, stime 15.
  local rest = s:match("%)%s+(.*)$")
  local fields = {}
  for w in rest:gmatch("%S+") do fields[#fields + 1] = w end
  return tonumber(fields[12]), tonumber(fields[13])
end

done = function(summary, latency, requests)
  local utime, stime = cpu_ticks()
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d},' ..
    '"cpu_ticks":{"user":%d,"system":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    utime, stime))
end
