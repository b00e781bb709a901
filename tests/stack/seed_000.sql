-- Test-only: a Supabase project as adopters have it, built from the seed backend schema
-- (the tables, with that app's own function, trigger and policy names), before any of
-- this repository's migrations. Applied after shim.sql. A variant drops interviews.metadata.

create or replace function public.update_updated_at_column()
returns trigger language plpgsql as $$
begin
  new.updated_at = now();
  return new;
end;
$$;

create table public.users (
  id uuid primary key references auth.users (id) on delete cascade,
  email varchar(255) unique not null,
  full_name varchar(255),
  avatar_url text,
  created_at timestamptz default now(),
  updated_at timestamptz default now()
);

create table public.user_api_keys (
  id uuid primary key default gen_random_uuid(),
  user_id uuid unique references public.users (id) on delete cascade,
  openai_key_encrypted text,
  deepgram_key_encrypted text,
  livekit_url_encrypted text,
  livekit_key_encrypted text,
  livekit_secret_encrypted text,
  encryption_salt text not null,
  updated_at timestamptz default now()
);
create index idx_user_api_keys_user_id on public.user_api_keys (user_id);

create table public.interviews (
  id uuid primary key default gen_random_uuid(),
  user_id uuid references public.users (id) on delete cascade,
  candidate_name varchar(255),
  interview_date timestamptz default now(),
  room_name varchar(255) unique,
  job_role varchar(255),
  experience_level varchar(50),
  final_stage varchar(50),
  ended_by varchar(50),
  skipped_stages jsonb default '[]'::jsonb,
  has_resume boolean default false,
  has_jd boolean default false,
  conversation jsonb,
  total_messages jsonb,
  metadata jsonb default '{}'::jsonb,
  created_at timestamptz default now()
);
create index idx_interviews_user_id on public.interviews (user_id);
create index idx_interviews_interview_date on public.interviews (interview_date desc);
create index idx_interviews_room_name on public.interviews (room_name);

create table public.feedback (
  id uuid primary key default gen_random_uuid(),
  user_id uuid references public.users (id) on delete cascade,
  interview_id uuid unique references public.interviews (id) on delete cascade,
  feedback_data jsonb not null,
  created_at timestamptz default now()
);
create index idx_feedback_interview_id on public.feedback (interview_id);
create index idx_feedback_user_id on public.feedback (user_id);

create trigger update_users_updated_at before update on public.users
  for each row execute function public.update_updated_at_column();
create trigger update_user_api_keys_updated_at before update on public.user_api_keys
  for each row execute function public.update_updated_at_column();

create or replace function public.handle_new_user()
returns trigger language plpgsql security definer set search_path = public as $$
begin
  insert into public.users (id, email, full_name)
  values (new.id, new.email, new.raw_user_meta_data ->> 'full_name');
  return new;
end;
$$;
create trigger on_auth_user_created after insert on auth.users
  for each row execute function public.handle_new_user();

alter table public.users enable row level security;
alter table public.user_api_keys enable row level security;
alter table public.interviews enable row level security;
alter table public.feedback enable row level security;

create policy "Users can view own profile" on public.users
  for select using (auth.uid() = id);
create policy "Users can update own profile" on public.users
  for update using (auth.uid() = id);
create policy "Users can manage own API keys" on public.user_api_keys
  for all using (auth.uid() = user_id);
create policy "Users can view own interviews" on public.interviews
  for select using (auth.uid() = user_id);
create policy "Users can view own feedback" on public.feedback
  for select using (auth.uid() = user_id);
