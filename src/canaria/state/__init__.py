"""Layer: the rollout's persisted state (SQLite, WAL) and the read models built from it.

`store` is the repository; `status` builds the JSON of `status --json` / `metrics --json` that the CLI, the
gateway's public endpoints and the dashboard all show; `gateway_feed` hands those to the gateway process.
"""
