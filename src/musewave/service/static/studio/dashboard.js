// The operator dashboard: queue counts, throughput and failures over time, workers, breakers,
// dead letters with re-drive, cleaning, and API keys. Everything comes from the admin API;
// a key without the admin scope gets an explanation and no data (the API refuses it too).
import {
  ApiError, ProgressStream, api, element, openKeyDialog, setupKeyDialog, setupTheme, showWho, toast,
} from "./api.js";

const REFRESH_MS = 3000;
const WINDOW_S = 3600;
const BUCKET_S = 120;
const STATES = ["queued", "active", "delayed", "completed", "failed", "dead", "cancelled", "aborted"];
const SECTIONS = ["queue", "health", "throughput", "dead", "clean", "keys"];

const $ = (id) => document.getElementById(id);
// Re-driven jobs stay listed, with their live state, after they leave the dead-letter list.
const redriven = new Map();
let timer = 0;
let admin = false;

function deny(text) {
  admin = false;
  clearTimeout(timer);
  for (const id of SECTIONS) $(id).hidden = true;
  $("denied").hidden = false;
  $("denied-text").textContent = text;
}

function allow() {
  admin = true;
  $("denied").hidden = true;
  for (const id of SECTIONS) $(id).hidden = false;
}

async function start() {
  const who = await showWho();
  if (!who) {
    deny("This server needs an API key, and an admin one for this page.");
    return;
  }
  if (who.scope !== "admin") {
    deny(`The key “${who.name}” has the user scope: this page needs an admin key.`);
    return;
  }
  allow();
  refresh();
}

async function healthOf() {
  try {
    return await api("/health");
  } catch (error) {
    // 503 still carries the detail: a degraded component.
    if (error instanceof ApiError && error.status === 503 && error.problem.components) return error.problem;
    throw error;
  }
}

async function refresh() {
  clearTimeout(timer);
  if (!admin) return;
  try {
    const [counts, health, buckets, dead, keys] = await Promise.all([
      api("/v1/admin/queue"),
      healthOf(),
      api(`/v1/admin/throughput?window_s=${WINDOW_S}&bucket_s=${BUCKET_S}`),
      api("/v1/admin/dead?limit=50"),
      api("/v1/admin/keys"),
    ]);
    showCounts(counts);
    showHealth(health);
    showThroughput(buckets);
    showDead(dead.jobs);
    showKeys(keys);
    $("updated").textContent = `Updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      deny("The server refused this key for the dashboard: it needs an admin key.");
      return;
    }
    $("updated").textContent = `Could not refresh: ${error.message}`;
  }
  if (!document.hidden) timer = setTimeout(refresh, REFRESH_MS);
}

function showCounts(counts) {
  $("counts").replaceChildren(...STATES.map((state) => element("div", { dataset: { state } },
    element("dt", {}, state), element("dd", {}, String(counts[state] ?? 0)))));
}

function showHealth(health) {
  const queue = health.components?.queue ?? {};
  const alive = queue.workers_alive ?? 0;
  const configured = queue.workers_configured;
  $("workers").textContent = `${alive} worker${alive === 1 ? "" : "s"} alive`
    + (configured ? ` of ${configured} configured` : "")
    + ` · ${queue.backend ?? "?"} backend · server ${health.status}`;
  const breakers = health.components?.breakers?.breakers ?? {};
  $("breakers").replaceChildren(...Object.entries(breakers).map(([name, b]) => element("tr", {},
    element("td", {}, name),
    element("td", { class: b.state === "closed" ? "ok" : "error" }, b.state),
    element("td", {}, `${b.failures} / ${b.fail_max}`),
    element("td", {}, b.retry_after_s ? `${b.retry_after_s} s` : "—"))));
}

function showThroughput(buckets) {
  const total = (key) => buckets.reduce((n, b) => n + b[key], 0);
  const completed = total("completed"), failed = total("failed"), cancelled = total("cancelled");
  const rate = completed + failed ? (100 * failed) / (completed + failed) : 0;
  $("throughput-summary").textContent = `${completed} completed, ${failed} failed, ${cancelled} cancelled`
    + ` in the last hour · failure rate ${rate.toFixed(1)} %`;
  $("chart").setAttribute("aria-label", `Finished jobs per two minutes over the last hour: ${$("throughput-summary").textContent}`);
  drawChart(buckets);
  $("throughput-rows").replaceChildren(...buckets.filter((b) => b.completed + b.failed + b.cancelled).map((b) => {
    const done = b.completed + b.failed;
    return element("tr", {},
      element("td", {}, new Date(b.start).toLocaleTimeString()),
      element("td", {}, String(b.completed)),
      element("td", {}, String(b.failed)),
      element("td", {}, String(b.cancelled)),
      element("td", {}, done ? `${((100 * b.failed) / done).toFixed(0)} %` : "—"));
  }));
}

function drawChart(buckets) {
  const canvas = $("chart");
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(canvas.clientWidth * ratio);
  canvas.height = Math.round(canvas.clientHeight * ratio);
  const ctx = canvas.getContext("2d");
  const styles = getComputedStyle(document.documentElement);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const peak = Math.max(1, ...buckets.map((b) => b.completed + b.failed));
  const width = canvas.width / buckets.length;
  const bottom = canvas.height - 14 * ratio;
  const scale = (bottom - 4 * ratio) / peak;
  buckets.forEach((b, i) => {
    const x = i * width + 1;
    const ok = b.completed * scale, bad = b.failed * scale;
    ctx.fillStyle = styles.getPropertyValue("--ok");
    ctx.fillRect(x, bottom - ok, Math.max(1, width - 2), ok);
    ctx.fillStyle = styles.getPropertyValue("--bad");
    ctx.fillRect(x, bottom - ok - bad, Math.max(1, width - 2), bad);
  });
  ctx.fillStyle = styles.getPropertyValue("--muted");
  ctx.font = `${11 * ratio}px system-ui, sans-serif`;
  ctx.fillText("−60 min", 2, canvas.height - 2);
  ctx.fillText(`peak ${peak}`, 2, 12 * ratio);
  const now = "now";
  ctx.fillText(now, canvas.width - ctx.measureText(now).width - 2, canvas.height - 2);
}

function deadRow(job, live) {
  const button = element("button", {
    type: "button", class: "small", disabled: Boolean(live),
    "aria-label": `Re-drive job ${job.id}`,
    onclick: () => redrive(job),
  }, "Re-drive");
  return element("tr", { dataset: { job: job.id } },
    element("td", { class: "mono", dataset: { label: "Job" } }, job.id),
    element("td", { dataset: { label: "Prompt" } }, job.request.prompt),
    element("td", { dataset: { label: "Error" } }, (job.error || "").split("\n")[0].slice(0, 200)),
    element("td", { class: `state-${live?.state ?? job.state}`, dataset: { role: "state", label: "State" } }, live?.text ?? job.state),
    element("td", { dataset: { label: "Action" } }, button));
}

function showDead(jobs) {
  const rows = jobs.filter((job) => !redriven.has(job.id)).map((job) => deadRow(job));
  for (const { job, live } of redriven.values()) rows.push(deadRow(job, live));
  $("dead-rows").replaceChildren(...rows);
  $("dead-note").textContent = jobs.length ? `${jobs.length} job${jobs.length === 1 ? "" : "s"} out of attempts.` : "No dead letters.";
}

function updateRedriven(jobId, state, text) {
  const entry = redriven.get(jobId);
  if (!entry) return;
  entry.live = { state, text };
  const cell = document.querySelector(`#dead-rows tr[data-job="${CSS.escape(jobId)}"] [data-role="state"]`);
  if (cell) {
    cell.textContent = text;
    cell.className = `state-${state}`;
  }
}

async function redrive(job) {
  try {
    const view = await api(`/v1/admin/jobs/${encodeURIComponent(job.id)}/redrive`, { method: "POST" });
    redriven.set(job.id, { job: view, live: { state: view.state, text: "queued" } });
    showDead([]);
    refresh();
    toast(`Job ${job.id} is back in the queue.`);
    new ProgressStream(job.id, {
      onEvent: (event) => {
        if (event.type === "completed") updateRedriven(job.id, "completed", "completed");
        else if (event.type === "failed" || event.type === "cancelled") updateRedriven(job.id, "failed", event.stage || event.type);
        else updateRedriven(job.id, "active", `${event.stage} · ${Math.round(event.progress)} %`);
      },
      onStatus: () => {},
    }).start();
  } catch (error) {
    toast(`Could not re-drive: ${error.message}`);
  }
}

function showKeys(keys) {
  $("key-rows").replaceChildren(...keys.map((key) => element("tr", { dataset: { key: key.id } },
    element("td", { dataset: { label: "Name" } }, key.name),
    element("td", { class: "mono", dataset: { label: "Id" } }, key.id),
    element("td", { dataset: { label: "Scope" } }, key.scope),
    element("td", { dataset: { label: "Rate" } }, key.rate ?? "default"),
    element("td", { dataset: { label: "Status" } }, key.active ? "active" : `revoked ${new Date(key.revoked_at).toLocaleDateString()}`),
    element("td", { dataset: { label: "Action" } }, key.active ? element("button", {
      type: "button", class: "small danger", "aria-label": `Revoke key ${key.name}`,
      onclick: async () => {
        try {
          await api(`/v1/admin/keys/${encodeURIComponent(key.id)}/revoke`, { method: "POST" });
          toast(`Key ${key.name} revoked.`);
          refresh();
        } catch (error) {
          toast(`Could not revoke: ${error.message}`);
        }
      },
    }, "Revoke") : ""))));
}

function setupForms() {
  $("key-create").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("key-create-error").textContent = "";
    const body = { name: $("new-key-name").value.trim(), scope: $("new-key-scope").value };
    const rate = $("new-key-rate").value.trim();
    if (rate) body.rate = rate;
    try {
      const created = await api("/v1/admin/keys", { method: "POST", body });
      $("new-secret").hidden = false;
      $("new-secret-value").value = created.secret;
      $("new-secret-value").focus();
      $("new-secret-value").select();
      $("new-key-name").value = "";
      refresh();
    } catch (error) {
      const fields = (error.problem?.errors || []).map((e) => e.msg);
      $("key-create-error").textContent = fields.length ? fields.join("; ") : error.message;
    }
  });
  $("new-secret-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText($("new-secret-value").value);
      toast("Copied.");
    } catch {
      $("new-secret-value").select();
    }
  });
  const confirming = (on) => {
    $("clean-start").hidden = on;
    $("clean-confirm").hidden = !on;
    $("clean-abort").hidden = !on;
    (on ? $("clean-confirm") : $("clean-start")).focus();
  };
  $("clean-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const days = Number($("clean-days").value);
    if (!(days >= 0)) { $("clean-result").textContent = "Give a number of days."; return; }
    $("clean-result").textContent = `Delete every finished job older than ${days} days, with its files?`;
    confirming(true);
  });
  $("clean-abort").addEventListener("click", () => { $("clean-result").textContent = ""; confirming(false); });
  $("clean-confirm").addEventListener("click", async () => {
    const seconds = Math.round(Number($("clean-days").value) * 86400);
    try {
      const result = await api(`/v1/admin/clean?older_than_s=${seconds}`, { method: "POST" });
      $("clean-result").textContent = `Removed ${result.removed_jobs.length} jobs.`;
    } catch (error) {
      $("clean-result").textContent = `Could not clean: ${error.message}`;
    }
    confirming(false);
    refresh();
  });
}

function main() {
  setupTheme();
  setupKeyDialog(() => start());
  setupForms();
  $("denied-key").addEventListener("click", () => openKeyDialog());
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
  start().finally(() => { document.documentElement.dataset.ready = "true"; });
}

main();
