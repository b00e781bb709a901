-- Job roles and interview questions (seed "voice interview app schema"), with its
-- sample data. The worker asks these when they exist and falls back to its bundled bank.

create table if not exists public.job_roles (
  id uuid primary key default gen_random_uuid(),
  title varchar(100) not null unique,
  category varchar(50) not null,
  description text,
  required_skills text[] not null,
  experience_levels varchar(20)[] default array['entry', 'mid', 'senior'],
  industry varchar(50),
  average_salary_range varchar(50),
  is_active boolean default true,
  created_at timestamptz default now(),
  updated_at timestamptz default now()
);

create table if not exists public.interview_questions (
  id uuid primary key default gen_random_uuid(),
  job_role_id uuid references public.job_roles (id) on delete cascade,
  question_text text not null,
  question_type varchar(30) not null
    check (question_type in ('technical', 'behavioral', 'situational', 'general')),
  difficulty_level varchar(20) not null check (difficulty_level in ('easy', 'medium', 'hard')),
  expected_answer_keywords text[],
  sample_answer text,
  evaluation_criteria jsonb,
  time_limit_seconds integer default 120,
  is_active boolean default true,
  created_at timestamptz default now(),
  updated_at timestamptz default now()
);

create index if not exists idx_job_roles_category on public.job_roles (category);
create index if not exists idx_interview_questions_job_role_id on public.interview_questions (job_role_id);
create index if not exists idx_interview_questions_difficulty on public.interview_questions (difficulty_level);

create or replace trigger job_roles_set_updated_at
  before update on public.job_roles
  for each row execute function public.set_updated_at();
create or replace trigger interview_questions_set_updated_at
  before update on public.interview_questions
  for each row execute function public.set_updated_at();

alter table public.job_roles enable row level security;
alter table public.interview_questions enable row level security;

drop policy if exists "Anyone can view active job roles" on public.job_roles;
create policy "Anyone can view active job roles" on public.job_roles
  for select to anon, authenticated using (is_active = true);
drop policy if exists "Anyone can view active interview questions" on public.interview_questions;
create policy "Anyone can view active interview questions" on public.interview_questions
  for select to anon, authenticated using (is_active = true);

insert into public.job_roles (title, category, description, required_skills, industry) values
  ('Frontend Developer', 'technology', 'Develop user-facing web applications',
   array['HTML', 'CSS', 'JavaScript', 'React', 'Vue.js'], 'Technology'),
  ('Backend Developer', 'technology', 'Develop server-side applications and APIs',
   array['Node.js', 'Python', 'Java', 'SQL', 'REST APIs'], 'Technology'),
  ('Full Stack Developer', 'technology', 'Develop both frontend and backend applications',
   array['JavaScript', 'React', 'Node.js', 'SQL', 'Git'], 'Technology'),
  ('Data Scientist', 'technology', 'Analyze data and build predictive models',
   array['Python', 'R', 'SQL', 'Machine Learning', 'Statistics'], 'Technology'),
  ('Product Manager', 'management', 'Manage product development lifecycle',
   array['Product Strategy', 'Analytics', 'Communication', 'Leadership'], 'Technology'),
  ('Digital Marketing Specialist', 'marketing', 'Execute digital marketing campaigns',
   array['SEO', 'SEM', 'Social Media', 'Analytics', 'Content Marketing'], 'Marketing')
on conflict (title) do nothing;

insert into public.interview_questions
  (job_role_id, question_text, question_type, difficulty_level, expected_answer_keywords, time_limit_seconds)
select r.id, q.question_text, q.question_type, q.difficulty_level, q.keywords, q.time_limit_seconds
from (values
  ('Frontend Developer',
   'What is the difference between let, const, and var in JavaScript?', 'technical', 'medium',
   array['scope', 'hoisting', 'reassignment', 'block scope'], 120),
  ('Frontend Developer',
   'Tell me about a challenging project you worked on and how you overcame the difficulties.',
   'behavioral', 'medium', array['problem-solving', 'teamwork', 'communication', 'persistence'], 180),
  ('Backend Developer',
   'Explain the difference between SQL and NoSQL databases.', 'technical', 'medium',
   array['relational', 'document', 'scalability', 'ACID', 'consistency'], 150)
) as q (role_title, question_text, question_type, difficulty_level, keywords, time_limit_seconds)
join public.job_roles r on r.title = q.role_title
where not exists (
  select 1 from public.interview_questions e
  where e.job_role_id = r.id and e.question_text = q.question_text
);
