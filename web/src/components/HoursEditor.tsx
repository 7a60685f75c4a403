// Business hours, one text field per weekday (SLA policy, technicians'
// working hours): the parent keeps the text and turns it into the API's
// shape with textToHours (api/hours.ts) when it saves.
import type { HoursText } from "../api/hours";
import { WEEKDAYS } from "../api/types";

const DAY_NAMES = { mon: "Monday", tue: "Tuesday", wed: "Wednesday", thu: "Thursday", fri: "Friday", sat: "Saturday", sun: "Sunday" };

export function HoursEditor(props: {
  id: string;
  timezone: string;
  days: HoursText;
  onChange: (timezone: string, days: HoursText) => void;
  disabled?: boolean;
}) {
  return (
    <fieldset className="grid grid-cols-1 gap-2 sm:grid-cols-2" disabled={props.disabled}>
      <legend className="sr-only">Hours</legend>
      <div className="sm:col-span-2">
        <label className="label" htmlFor={`${props.id}-tz`}>
          Time zone
        </label>
        <input
          id={`${props.id}-tz`}
          className="input"
          placeholder="e.g. Europe/Berlin (empty: no hours, always on)"
          value={props.timezone}
          onChange={(e) => props.onChange(e.target.value, props.days)}
        />
      </div>
      {WEEKDAYS.map((d) => (
        <div key={d}>
          <label className="label" htmlFor={`${props.id}-${d}`}>
            {DAY_NAMES[d]}
          </label>
          <input
            id={`${props.id}-${d}`}
            className="input"
            placeholder="closed, or 09:00-12:00, 13:00-17:00"
            value={props.days[d]}
            onChange={(e) => props.onChange(props.timezone, { ...props.days, [d]: e.target.value })}
          />
        </div>
      ))}
    </fieldset>
  );
}
