// One of the three steps: a numbered card with an icon, a title, its content and its action.

import type { ReactNode } from 'react';

interface StepCardProps {
  number: number;
  title: string;
  icon: ReactNode;
  state: 'waiting' | 'ready' | 'done' | 'active';
  children: ReactNode;
}

export function StepCard({ number, title, icon, state, children }: StepCardProps) {
  return (
    <section className={`step step-${state}`} aria-labelledby={`step-${number}-title`}>
      <div className="step-badge" aria-hidden="true">
        <span className="step-icon">{icon}</span>
        <span className="step-number">{number}</span>
      </div>
      <h2 id={`step-${number}-title`} className="step-title">
        {title}
      </h2>
      <div className="step-content">{children}</div>
    </section>
  );
}
