-- Interviews and their feedback. Only the service role (the worker) writes them;
-- users read their own.

create table public.interviews (
  id uuid primary key default gen_random_uuid(),
  user_id uuid references public.users (id) on delete cascade,
  candidate_name varchar(255),
  interview_date timestamptz not null default now(),
  room_name varchar(255) not null unique,
  job_role varchar(255),
  experience_level varchar(32),
  final_stage varchar(64),
  ended_by varchar(32),
  skipped_stages jsonb not null default '[]'::jsonb,
  has_resume boolean not null default false,
  has_jd boolean not null default false,
  conversation jsonb,
  total_messages jsonb,
  metadata jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);

create index idx_interviews_user_id on public.interviews (user_id);
create index idx_interviews_interview_date on public.interviews (interview_date desc);
create index idx_interviews_room_name on public.interviews (room_name);

create table public.feedback (
  id uuid primary key default gen_random_uuid(),
  user_id uuid references public.users (id) on delete cascade,
  interview_id uuid not null unique references public.interviews (id) on delete cascade,
  feedback_data jsonb not null,
  created_at timestamptz not null default now()
);

create index idx_feedback_interview_id on public.feedback (interview_id);
create index idx_feedback_user_id on public.feedback (user_id);

alter table public.interviews enable row level security;
alter table public.feedback enable row level security;

create policy "Users read their own interviews" on public.interviews
  for select to authenticated using (auth.uid() = user_id);
create policy "Users read their own feedback" on public.feedback
  for select to authenticated using (auth.uid() = user_id);
-- no insert/update/delete policies: with RLS on, only the service role (bypassrls) writes.
