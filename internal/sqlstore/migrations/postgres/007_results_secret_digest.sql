-- Results secrets are stored as digests and looked up by them.
CREATE UNIQUE INDEX tenants_results_secret ON tenants (results_secret) WHERE results_secret <> '';
