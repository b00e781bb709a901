-- Profiles synced with Supabase Auth: a row per auth user, created by trigger.
-- Every migration here is additive and re-runnable: it applies on an empty project and on
-- one built from the seed schema (tables and rows kept as they are), any number of times.

create or replace function public.set_updated_at()
returns trigger
language plpgsql
as $$
begin
  new.updated_at = now();
  return new;
end;
$$;

create table if not exists public.users (
  id uuid primary key references auth.users (id) on delete cascade,
  email varchar(255) not null unique,
  full_name varchar(255),
  avatar_url text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

alter table public.users add column if not exists full_name varchar(255);
alter table public.users add column if not exists avatar_url text;
alter table public.users add column if not exists created_at timestamptz not null default now();
alter table public.users add column if not exists updated_at timestamptz not null default now();

create or replace trigger users_set_updated_at
  before update on public.users
  for each row execute function public.set_updated_at();

create or replace function public.handle_new_auth_user()
returns trigger
language plpgsql
security definer
set search_path = public
as $$
begin
  insert into public.users (id, email, full_name, avatar_url)
  values (
    new.id,
    new.email,
    new.raw_user_meta_data ->> 'full_name',
    new.raw_user_meta_data ->> 'avatar_url'
  )
  on conflict (id) do nothing;
  return new;
end;
$$;

-- A project that already creates profiles with an insert trigger of another name keeps
-- its own (two triggers would race to insert the same profile).
do $$
begin
  if not exists (
    select 1 from pg_trigger t
    where t.tgrelid = 'auth.users'::regclass and not t.tgisinternal
      and (t.tgtype & 4) <> 0  -- fires on insert
      and t.tgname <> 'on_auth_user_created'
  ) then
    create or replace trigger on_auth_user_created
      after insert on auth.users
      for each row execute function public.handle_new_auth_user();
  end if;
end;
$$;

alter table public.users enable row level security;

drop policy if exists "Users read their own profile" on public.users;
create policy "Users read their own profile" on public.users
  for select to authenticated using (auth.uid() = id);
drop policy if exists "Users update their own profile" on public.users;
create policy "Users update their own profile" on public.users
  for update to authenticated using (auth.uid() = id) with check (auth.uid() = id);
