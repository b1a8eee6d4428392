-- The role Grafana reads the MMS registry with: SELECT on the tables the dashboard queries, nothing
-- else (not the historical logs, which hold players' prompts). Run by the one-shot `grafana-grants`
-- service after every migration, so it is idempotent. The password comes from the session setting
-- mms.grafana_reader_password (PGOPTIONS="-c mms.grafana_reader_password=…"), never from this file.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'grafana_reader') then
    create role grafana_reader login;
  end if;
  execute format('alter role grafana_reader password %L', current_setting('mms.grafana_reader_password'));
  execute format('grant connect on database %I to grafana_reader', current_database());
end $$;
grant usage on schema public to grafana_reader;
grant select on models, model_deployments, traffic_allocations, optimization_decisions to grafana_reader;
