// A progress bar with the native role, so screen readers announce it; the fill eases between
// updates (the host sends ~10 a second) so it glides instead of jumping.

interface ProgressBarProps {
  label: string;
  percent: number;
  tone: 'write' | 'verify' | 'error';
  thin?: boolean;
}

export function ProgressBar({ label, percent, tone, thin }: ProgressBarProps) {
  const value = Math.min(100, Math.max(0, percent));
  return (
    <div className={`bar bar-${tone}${thin ? ' bar-thin' : ''}`} role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.floor(value)}>
      <div className="bar-fill" style={{ width: `${value}%` }} />
    </div>
  );
}
