-- Five more vendors' keys and the deployment's OpenAI-compatible endpoint's key
-- (docs/PROVIDERS.md): one sealed column each, added to user_api_keys beside the seed's
-- five, which stay exactly as they are; sealed like the others (docs/BYOK.md: the AAD
-- names the column). And the user's own order of providers (provider_preference, not a
-- secret: the same JSON as the dispatch metadata's "providers", which wins per kind).
-- Additive and idempotent: it applies to an existing seed database and re-runs cleanly.
-- Row-level security is the table's own (a user reaches only their own row), unchanged.

alter table public.user_api_keys add column if not exists anthropic_key_encrypted text;
alter table public.user_api_keys add column if not exists google_key_encrypted text;
alter table public.user_api_keys add column if not exists elevenlabs_key_encrypted text;
alter table public.user_api_keys add column if not exists cartesia_key_encrypted text;
alter table public.user_api_keys add column if not exists assemblyai_key_encrypted text;
alter table public.user_api_keys add column if not exists compatible_key_encrypted text;
alter table public.user_api_keys add column if not exists provider_preference jsonb;

do $$
begin
  if not exists (
    select 1 from pg_constraint where conname = 'user_api_keys_provider_preference_object'
  ) then
    alter table public.user_api_keys add constraint user_api_keys_provider_preference_object
      check (provider_preference is null or jsonb_typeof(provider_preference) = 'object');
  end if;
end
$$;

comment on column public.user_api_keys.anthropic_key_encrypted is
  'Anthropic API key, sealed (v1.<key_id>.<nonce||ciphertext||tag>, AAD names this column)';
comment on column public.user_api_keys.google_key_encrypted is
  'Google Gemini API key, sealed (v1.<key_id>.<nonce||ciphertext||tag>, AAD names this column)';
comment on column public.user_api_keys.elevenlabs_key_encrypted is
  'ElevenLabs API key, sealed (v1.<key_id>.<nonce||ciphertext||tag>, AAD names this column)';
comment on column public.user_api_keys.cartesia_key_encrypted is
  'Cartesia API key, sealed (v1.<key_id>.<nonce||ciphertext||tag>, AAD names this column)';
comment on column public.user_api_keys.assemblyai_key_encrypted is
  'AssemblyAI API key, sealed (v1.<key_id>.<nonce||ciphertext||tag>, AAD names this column)';
comment on column public.user_api_keys.compatible_key_encrypted is
  'Key for the deployment''s own OpenAI-compatible endpoint (its address is the operator''s setting, never the user''s), sealed like the others';
comment on column public.user_api_keys.provider_preference is
  'The user''s order of providers per kind: {"stt"|"llm"|"tts": name or [names]} (docs/PROVIDERS.md); the dispatch metadata''s "providers" wins per kind';
