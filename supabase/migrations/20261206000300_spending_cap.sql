-- The user's own spending cap per interview (docs/CONTRACTS.md, "Spending cap"): the most
-- one interview may cost them with their own keys, in US dollars. The dispatch metadata
-- may set one too; the lower applies. Not a secret. Additive and idempotent: it applies
-- to an existing seed database and re-runs cleanly. Row-level security is the table's
-- own (a user reaches only their own row), unchanged.

alter table public.user_api_keys add column if not exists max_cost_usd numeric;

do $$
begin
  if not exists (
    select 1 from pg_constraint where conname = 'user_api_keys_max_cost_usd_positive'
  ) then
    alter table public.user_api_keys add constraint user_api_keys_max_cost_usd_positive
      check (max_cost_usd is null or (max_cost_usd > 0 and max_cost_usd <= 1000));
  end if;
end
$$;

comment on column public.user_api_keys.max_cost_usd is
  'The most one interview may cost this user, in USD (the dispatch metadata''s max_cost_usd wins only if lower)';
