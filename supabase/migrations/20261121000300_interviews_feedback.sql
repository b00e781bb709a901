-- Interviews and their feedback. Only the service role (the worker) writes them;
-- users read their own. On an existing project every column the worker writes is added
-- if it is missing; existing rows are kept as they are.

create table if not exists public.interviews (
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

alter table public.interviews add column if not exists user_id uuid references public.users (id) on delete cascade;
alter table public.interviews add column if not exists candidate_name varchar(255);
alter table public.interviews add column if not exists interview_date timestamptz not null default now();
alter table public.interviews add column if not exists room_name varchar(255);
alter table public.interviews add column if not exists job_role varchar(255);
alter table public.interviews add column if not exists experience_level varchar(32);
alter table public.interviews add column if not exists final_stage varchar(64);
alter table public.interviews add column if not exists ended_by varchar(32);
alter table public.interviews add column if not exists skipped_stages jsonb not null default '[]'::jsonb;
alter table public.interviews add column if not exists has_resume boolean not null default false;
alter table public.interviews add column if not exists has_jd boolean not null default false;
alter table public.interviews add column if not exists conversation jsonb;
alter table public.interviews add column if not exists total_messages jsonb;
alter table public.interviews add column if not exists metadata jsonb not null default '{}'::jsonb;
alter table public.interviews add column if not exists created_at timestamptz not null default now();

create table if not exists public.feedback (
  id uuid primary key default gen_random_uuid(),
  user_id uuid references public.users (id) on delete cascade,
  interview_id uuid not null unique references public.interviews (id) on delete cascade,
  feedback_data jsonb not null,
  created_at timestamptz not null default now()
);

alter table public.feedback add column if not exists user_id uuid references public.users (id) on delete cascade;
alter table public.feedback add column if not exists created_at timestamptz not null default now();

-- The worker saves feedback with "on conflict (interview_id)": one feedback per interview.
do $$
begin
  if not exists (
    select 1 from pg_index i
    where i.indrelid = 'public.feedback'::regclass and i.indisunique
      and i.indkey::text = (select attnum::text from pg_attribute
                            where attrelid = 'public.feedback'::regclass
                              and attname = 'interview_id')
  ) then
    create unique index feedback_interview_id_key on public.feedback (interview_id);
  end if;
end;
$$;

create index if not exists idx_interviews_user_id on public.interviews (user_id);
create index if not exists idx_interviews_interview_date on public.interviews (interview_date desc);
create index if not exists idx_interviews_room_name on public.interviews (room_name);
create index if not exists idx_feedback_interview_id on public.feedback (interview_id);
create index if not exists idx_feedback_user_id on public.feedback (user_id);

alter table public.interviews enable row level security;
alter table public.feedback enable row level security;

drop policy if exists "Users read their own interviews" on public.interviews;
create policy "Users read their own interviews" on public.interviews
  for select to authenticated using (auth.uid() = user_id);
drop policy if exists "Users read their own feedback" on public.feedback;
create policy "Users read their own feedback" on public.feedback
  for select to authenticated using (auth.uid() = user_id);
-- no insert/update/delete policies: with RLS on, only the service role (bypassrls) writes.
