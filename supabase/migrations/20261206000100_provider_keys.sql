-- More providers' keys (docs/PROVIDERS.md): one sealed column per vendor key, added to
-- user_api_keys beside the seed's five, which stay exactly as they are. Sealed like the
-- others (docs/BYOK.md: the AAD names the column). Additive and idempotent: it applies to
-- an existing seed database and re-runs cleanly. Row-level security is the table's own
-- (a user reaches only their own row), unchanged.

alter table public.user_api_keys add column if not exists groq_key_encrypted text;

comment on column public.user_api_keys.groq_key_encrypted is
  'Groq API key, sealed (v1.<key_id>.<nonce||ciphertext||tag>, AAD names this column)';
