// The clinician's page: reads a patient, asks this server for the answer and the picture, shows both.
// Plain JavaScript, no library, nothing fetched from anywhere but this server.
"use strict";

const STATUS_WORDS = {
  recommended: "✔ recommended", eligible: "● eligible", undetermined: "? undetermined",
  not_eligible: "✕ not eligible",
};
const MEDIA_NAMES = {
  "application/json": "JSON", "text/turtle": "Turtle", "application/ld+json": "JSON-LD",
  "application/n-triples": "N-Triples", "application/fhir+json": "FHIR Bundle",
};
let answer = null;
let submission = 0;  // only the latest submission's answers are shown

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value; else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function statusBadge(status) {
  return el("span", {class: `status status-${status.replace("_", "-")}`}, STATUS_WORDS[status] || status);
}

function detectMedia(text) {
  const chosen = document.getElementById("format").value;
  if (chosen !== "auto") return chosen;
  const start = text.trimStart();
  if (start.startsWith("{") || start.startsWith("[")) {
    try {
      const value = JSON.parse(text);
      // a FHIR bundle goes as FHIR where the server takes FHIR (GET /ui/formats), else as JSON
      const fhir = document.querySelector('#format option[value="application/fhir+json"]');
      if (value && value.resourceType === "Bundle" && fhir) return "application/fhir+json";
      if (value && (value["@context"] || value["@graph"] || value["@id"])) return "application/ld+json";
    } catch (err) { /* the server names the problem */ }
    return "application/json";
  }
  if (/^<[^>]+>\s+<[^>]+>/.test(start) && !/@prefix|PREFIX/i.test(start)) return "application/n-triples";
  return "text/turtle";
}

function showErrors(title, violations) {
  const box = document.getElementById("document-errors");
  const area = document.getElementById("document");
  box.replaceChildren(el("p", {}, title));
  if (violations && violations.length) {
    box.append(el("ul", {}, violations.map(v => el("li", {}, el("code", {}, v.field || "document"), ": ", v.message))));
  }
  box.hidden = false;
  area.setAttribute("aria-invalid", "true");
  area.focus();
}

function clearErrors() {
  const box = document.getElementById("document-errors");
  box.hidden = true;
  box.replaceChildren();
  document.getElementById("document").removeAttribute("aria-invalid");
}

async function readError(response) {
  try {
    const body = await response.json();
    return {message: body.message || body.error || response.statusText, violations: body.violations || []};
  } catch (err) {
    return {message: `${response.status} ${response.statusText}`, violations: []};
  }
}

function insertPicture(svgText) {
  const doc = new DOMParser().parseFromString(svgText, "image/svg+xml");
  const svg = doc.documentElement;
  if (svg.nodeName !== "svg") throw new Error("the server sent no picture");
  const picture = document.getElementById("picture");
  picture.replaceChildren(document.importNode(svg, true));
  for (const node of picture.querySelectorAll("g.step.treatment")) {
    node.addEventListener("click", () => showStep(node));
    node.addEventListener("keydown", event => {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); showStep(node); }
    });
  }
}

function evidenceList(evidence) {
  const items = [];
  for (const item of evidence || []) {
    if (item.type === "trial" || item.nct) {
      const url = item.url || (item.nct ? `https://clinicaltrials.gov/study/${item.nct}` : null);
      items.push(el("li", {class: "trial"}, "Trial ", el("strong", {}, item.label), item.nct ? " (" : "",
        item.nct ? el("a", {href: url, rel: "noopener noreferrer", target: "_blank", class: "nct"}, item.nct) : "",
        item.nct ? ")" : ""));
    } else if (item.type === "approval") {
      items.push(el("li", {class: "approval"}, item.label, item.date ? `, ${item.date}` : ""));
    } else {
      items.push(el("li", {class: "reference"}, "Reference: ", item.title || item.label));
    }
  }
  return items;
}

function optionCard(option) {
  const status = option.status;
  const card = el("article", {class: `option option-${status.replace("_", "-")}`, "data-status": status});
  card.append(el("h3", {}, option.regimen.label, statusBadge(status)));
  if (option.regimen.drugs && option.regimen.drugs.length) {
    card.append(el("p", {class: "drugs"}, "Drugs: ", option.regimen.drugs.join(" + ")));
  }
  if (option.reasons && option.reasons.length) {
    card.append(el("p", {class: "label"}, "Why, from her data"));
    card.append(el("ul", {class: "reasons"}, option.reasons.map(r => el("li", {}, r))));
  }
  if (option.missing && option.missing.length) {
    card.append(el("p", {class: "label"}, "To test (missing)"));
    card.append(el("ul", {class: "missing"}, option.missing.map(m => el("li", {}, m))));
  }
  const evidence = evidenceList(option.evidence);
  if (evidence.length) {
    card.append(el("p", {class: "label"}, "Evidence"));
    card.append(el("ul", {class: "evidence"}, evidence));
  }
  return card;
}

function showStep(node) {
  for (const other of document.querySelectorAll("#picture g.step.selected")) other.classList.remove("selected");
  node.classList.add("selected");
  const iri = node.getAttribute("data-step");
  const label = node.getAttribute("data-label") || node.querySelector("title")?.textContent || iri;
  const section = document.getElementById("details");
  const body = document.getElementById("details-body");
  document.getElementById("details-heading").textContent = `Step: ${label}`;
  body.replaceChildren();
  const lines = node.getAttribute("data-lines");
  if (lines) body.append(el("p", {}, `Her metastatic line ${lines.split(" ").join(", ")} was given at this step.`));
  if (!answer) {
    body.append(el("p", {}, "Submit a patient to see this step's options for her."));
  } else {
    const options = answer.options.filter(o => o.step.id === iri);
    if (!options.length) body.append(el("p", {}, "The answer lists no option at this step."));
    for (const option of options) body.append(optionCard(option));
  }
  section.hidden = false;
  section.scrollIntoView({block: "nearest"});
}

function explainSensitivity(result) {
  const code = result.assessment.endocrine_sensitivity;
  if (!code) return null;
  const prefix = `endocrine-${code}`;
  for (const option of result.options) {
    for (const criterion of option.criteria || []) {
      for (const line of criterion.data || []) if (line.startsWith(prefix)) return line;
    }
  }
  return null;
}

function showAssessment(result) {
  const a = result.assessment;
  const list = document.getElementById("assessment-list");
  const why = explainSensitivity(result);
  const positions = (a.pathway_position || []).map(p =>
    `line ${p.line}: ${p.regimen ? p.regimen + " at " : ""}“${p.step}”`);
  list.replaceChildren(
    el("dt", {}, "Patient"), el("dd", {id: "patient-id"}, result.patient_id),
    el("dt", {}, "Endocrine sensitivity"), el("dd", {id: "endocrine-sensitivity"}, a.endocrine_sensitivity || "unknown",
      why ? ` (${why})` : ""),
    el("dt", {}, "HER2 category"), el("dd", {id: "her2-category"}, a.her2_category || "unresolved"),
    el("dt", {}, "Metastatic lines so far"), el("dd", {id: "metastatic-lines"}, String(a.metastatic_lines),
      positions.length ? ` (${positions.join("; ")})` : ""),
  );
  const byStep = new Map();
  for (const o of result.options.filter(o => o.status === "recommended")) {
    if (!byStep.has(o.step.label)) byStep.set(o.step.label, []);
    byStep.get(o.step.label).push(o.regimen.label);
  }
  list.append(el("dt", {}, "Recommended next"), el("dd", {id: "recommended"}, byStep.size
    ? el("ul", {class: "plain"}, [...byStep].map(([step, regimens]) => el("li", {}, el("strong", {}, step), ": ",
        regimens.join("; "))))
    : "none: see the undetermined options and what to test"));
  const warnings = document.getElementById("warnings");
  warnings.replaceChildren(...(result.warnings || []).map(w => el("li", {}, w)));
  document.getElementById("assessment").hidden = false;
  for (const id of ["graph-version", "graph-version-foot"]) {
    document.getElementById(id).textContent = result.knowledge_graph_version;
  }
}

function showSummary(result) {
  const body = document.getElementById("summary-body");
  body.replaceChildren(...result.options.map(o => el("tr", {"data-status": o.status},
    el("td", {}, statusBadge(o.status)), el("td", {}, o.step.label), el("td", {}, o.regimen.label),
    el("td", {}, (o.reasons || []).join("; ")), el("td", {}, (o.missing || []).join("; ")))));
  document.getElementById("summary").hidden = false;
}

async function showBare() {
  try {
    const bare = await fetch("/v1/pathway.svg");
    const svg = bare.ok ? await bare.text() : null;
    if (answer !== null) return;  // a patient's picture came first: keep it
    if (svg) insertPicture(svg); else document.getElementById("picture").replaceChildren();
  } catch (err) { if (answer === null) document.getElementById("picture").replaceChildren(); }
}

function forgetAnswer() {
  // a new document replaces the last patient's answer at once: nothing of hers stays beside another's errors
  answer = null;
  for (const id of ["assessment", "details", "summary"]) document.getElementById(id).hidden = true;
  document.getElementById("details-body").replaceChildren();
  document.getElementById("summary-body").replaceChildren();
  if (document.querySelector("#picture svg g.step[data-status]")) showBare();
}

async function submitPatient(event) {
  event.preventDefault();
  clearErrors();
  forgetAnswer();
  const text = document.getElementById("document").value;
  if (!text.trim()) { showErrors("Paste a patient document, upload a file or choose an example.", []); return; }
  const media = detectMedia(text);
  const mine = ++submission;
  const busy = document.getElementById("busy");
  busy.textContent = `Reading the patient (${MEDIA_NAMES[media] || media})…`;
  try {
    const response = await fetch("/v1/recommendations", {method: "POST", headers: {"Content-Type": media,
      Accept: "application/json"}, body: text});
    if (mine !== submission) return;
    if (!response.ok) {
      const problem = await readError(response);
      showErrors(problem.message, problem.violations);
      busy.textContent = "";
      return;
    }
    const result = await response.json();
    const picture = await fetch("/v1/pathway.svg", {method: "POST", headers: {"Content-Type": media,
      Accept: "image/svg+xml"}, body: text});
    if (mine !== submission) return;
    answer = result;
    if (!picture.ok) {
      const problem = await readError(picture);
      showErrors(`The picture could not be drawn: ${problem.message}`, problem.violations);
    } else {
      insertPicture(await picture.text());
    }
    showAssessment(answer);
    showSummary(answer);
    document.getElementById("details").hidden = true;
    busy.textContent = `Answered for ${answer.patient_id}.`;
  } catch (err) {
    showErrors(`The server could not be reached: ${err.message}`, []);
    busy.textContent = "";
  }
}

async function loadExample() {
  const select = document.getElementById("example");
  if (!select.value) return;
  const option = select.selectedOptions[0];
  const response = await fetch(select.value);
  let text = await response.text();
  if ((option.dataset.media || "").endsWith("json")) {
    try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (err) { /* shown as it is */ }
  }
  document.getElementById("document").value = text;
  document.getElementById("format").value = option.dataset.media || "auto";
  clearErrors();
}

function readUpload() {
  const file = document.getElementById("upload").files[0];
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => {
    document.getElementById("document").value = reader.result;
    const name = file.name.toLowerCase();
    const byName = name.endsWith(".ttl") ? "text/turtle" : name.endsWith(".jsonld") ? "application/ld+json"
      : name.endsWith(".nt") ? "application/n-triples" : "auto";
    document.getElementById("format").value = byName;
    clearErrors();
  };
  reader.readAsText(file);
}

async function start() {
  document.getElementById("patient-form").addEventListener("submit", submitPatient);
  document.getElementById("example").addEventListener("change", loadExample);
  document.getElementById("upload").addEventListener("change", readUpload);
  try {
    const examples = await (await fetch("/ui/examples")).json();
    const select = document.getElementById("example");
    for (const example of examples) {
      select.append(el("option", {value: example.url, "data-media": example.media_type}, example.title));
    }
  } catch (err) { /* the examples are a convenience */ }
  try {
    const health = await (await fetch("/health")).json();
    const version = health.knowledge_graph_version || health.version;
    if (version) for (const id of ["graph-version", "graph-version-foot"]) document.getElementById(id).textContent = version;
  } catch (err) { /* shown with the first answer */ }
  try {
    const accepted = (await (await fetch("/ui/formats")).json()).accepted || [];
    for (const option of [...document.querySelectorAll("#format option")]) {
      if (option.value !== "auto" && !accepted.includes(option.value)) option.remove();
    }
  } catch (err) { /* keep every format */ }
  await showBare();
}

document.addEventListener("DOMContentLoaded", start);
