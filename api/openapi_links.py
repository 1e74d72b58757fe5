"""OpenAPI links: which answer's id a client (or a stateful fuzzer) can follow to which operation,
e.g. a job's 202 to its status, its result and its cancellation, a created site to its reads and
changes. Added to the generated schema by path and method, so they follow FastAPI's operation ids."""

from __future__ import annotations

JOB_ID = {"job_id": "$response.body#/id"}
SITE_ID = {"site_id": "$response.body#/id"}
SITE_ETAG = {"site_id": "$response.body#/id", "header.if-match": "$response.header.ETag"}

JOB_STATUS = [("GetJob", "get", "/v1/jobs/{job_id}", JOB_ID), ("CancelJob", "delete", "/v1/jobs/{job_id}", JOB_ID)]
ROSTER_RESULT = [("GetRoster", "get", "/v1/rosters/{job_id}", JOB_ID)]
PLAN_RESULTS = [("GetPlan", "get", "/v1/plans/{job_id}", JOB_ID),
                ("PlanScenarios", "post", "/v1/plans/{job_id}/scenarios", JOB_ID),
                ("PlanWorkbook", "get", "/v1/plans/{job_id}/roster.xlsx", JOB_ID),
                ("PlanReport", "get", "/v1/plans/{job_id}/report.html", JOB_ID)]
SCENARIOS_RESULT = [("GetScenarios", "get", "/v1/scenarios/{job_id}", JOB_ID)]
SITE_READS = [("GetSite", "get", "/v1/sites/{site_id}", SITE_ID),
              ("ListAgents", "get", "/v1/sites/{site_id}/agents", SITE_ID),
              ("ListTemplates", "get", "/v1/sites/{site_id}/templates", SITE_ID),
              ("GetRules", "get", "/v1/sites/{site_id}/rules", SITE_ID),
              ("GetWeights", "get", "/v1/sites/{site_id}/weights", SITE_ID),
              ("SiteAudit", "get", "/v1/sites/{site_id}/audit", SITE_ID),
              ("ListSchedules", "get", "/v1/sites/{site_id}/schedules", SITE_ID)]
SITE_CHANGES = [("PatchSite", "patch", "/v1/sites/{site_id}", SITE_ETAG),
                ("ReplaceSite", "put", "/v1/sites/{site_id}", SITE_ETAG),
                ("DeleteSite", "delete", "/v1/sites/{site_id}", SITE_ETAG),
                ("UpsertAgents", "post", "/v1/sites/{site_id}/agents", SITE_ID),
                ("UpsertTemplates", "post", "/v1/sites/{site_id}/templates", SITE_ID),
                ("PatchRules", "patch", "/v1/sites/{site_id}/rules", SITE_ID),
                ("PatchWeights", "patch", "/v1/sites/{site_id}/weights", SITE_ID),
                ("PublishSchedule", "post", "/v1/sites/{site_id}/schedules", SITE_ID)]

# (method, path, status) of an answer -> the links it offers
LINKS = {
    ("post", "/v1/rosters", "202"): JOB_STATUS + ROSTER_RESULT,
    ("post", "/v1/plans", "202"): JOB_STATUS + ROSTER_RESULT + PLAN_RESULTS,
    ("post", "/v1/scenarios", "202"): JOB_STATUS + SCENARIOS_RESULT,
    ("get", "/v1/jobs/{job_id}", "200"): JOB_STATUS + ROSTER_RESULT + PLAN_RESULTS + SCENARIOS_RESULT,
    ("delete", "/v1/jobs/{job_id}", "202"): JOB_STATUS,
    ("post", "/v1/sites", "201"): SITE_READS + SITE_CHANGES,
    ("get", "/v1/sites/{site_id}", "200"): SITE_READS + SITE_CHANGES,
    ("patch", "/v1/sites/{site_id}", "200"): SITE_READS + SITE_CHANGES,
    ("put", "/v1/sites/{site_id}", "200"): SITE_READS + SITE_CHANGES,
}


def add_links(schema: dict) -> None:
    """Write LINKS into the schema's responses (an operation or answer the schema lacks is skipped)."""
    paths = schema.get("paths", {})
    for (method, path, status), links in LINKS.items():
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None:
            continue
        out = response.setdefault("links", {})
        for name, target_method, target_path, parameters in links:
            target = paths.get(target_path, {}).get(target_method)
            if target is not None:
                out[name] = {"operationId": target["operationId"], "parameters": dict(parameters)}
