-- BYOK: each user's provider keys, sealed by the worker's scheme (AES-256-GCM, per-user
-- HKDF key from a master key and encryption_salt). The database never sees plaintext.
-- Rows an earlier app sealed with Fernet stay as they are until `keys rotate` (docs/BYOK.md).

create table if not exists public.user_api_keys (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null unique references public.users (id) on delete cascade,
  openai_key_encrypted text,
  deepgram_key_encrypted text,
  livekit_url_encrypted text,
  livekit_key_encrypted text,
  livekit_secret_encrypted text,
  encryption_salt text not null,
  updated_at timestamptz not null default now()
);

alter table public.user_api_keys add column if not exists openai_key_encrypted text;
alter table public.user_api_keys add column if not exists deepgram_key_encrypted text;
alter table public.user_api_keys add column if not exists livekit_url_encrypted text;
alter table public.user_api_keys add column if not exists livekit_key_encrypted text;
alter table public.user_api_keys add column if not exists livekit_secret_encrypted text;
alter table public.user_api_keys add column if not exists encryption_salt text;
alter table public.user_api_keys add column if not exists updated_at timestamptz not null default now();

create index if not exists idx_user_api_keys_user_id on public.user_api_keys (user_id);

create or replace trigger user_api_keys_set_updated_at
  before update on public.user_api_keys
  for each row execute function public.set_updated_at();

alter table public.user_api_keys enable row level security;

drop policy if exists "Users read their own keys" on public.user_api_keys;
create policy "Users read their own keys" on public.user_api_keys
  for select to authenticated using (auth.uid() = user_id);
drop policy if exists "Users add their own keys" on public.user_api_keys;
create policy "Users add their own keys" on public.user_api_keys
  for insert to authenticated with check (auth.uid() = user_id);
drop policy if exists "Users change their own keys" on public.user_api_keys;
create policy "Users change their own keys" on public.user_api_keys
  for update to authenticated using (auth.uid() = user_id) with check (auth.uid() = user_id);
drop policy if exists "Users delete their own keys" on public.user_api_keys;
create policy "Users delete their own keys" on public.user_api_keys
  for delete to authenticated using (auth.uid() = user_id);
