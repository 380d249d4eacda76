/** Used against what claims may take: (capacity − reserved) × allocation ratio, as placement counts it. */
export function UsageBar({ label, used, capacity, reserved, ratio, unit }: {
  label: string; used: number; capacity: number; reserved: number; ratio: number; unit: string;
}) {
  const limit = Math.max(0, Math.floor((capacity - reserved) * ratio));
  const share = limit === 0 ? 0 : Math.min(1, used / limit);
  return (
    <div className="usage">
      <span className="usage-label">{label}</span>
      <meter min={0} max={limit || 1} value={used} high={limit * 0.85} optimum={0} aria-label={`${label} used`}
        title={`${used} of ${limit} ${unit} (${capacity} − ${reserved} reserved, × ${ratio})`} />
      <span className="usage-text">{used}/{limit} {unit}{share >= 1 ? ' full' : ''}</span>
    </div>
  );
}
