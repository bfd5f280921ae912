"""dlr-vault shared package: Infobip client, report model, archive, index and the ingest/lookup logic."""
