import { useState, type FormEvent } from 'react';
import { gql, unwrap } from '../api.ts';
import { useCan } from '../me.ts';
import { session } from '../session.ts';

/** PUTs the file with XMLHttpRequest, whose upload events (unlike fetch's) report progress. */
function putFile(id: string, file: File, onProgress: (share: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', `/images/${id}/file`);
    xhr.setRequestHeader('authorization', `Bearer ${session.token() ?? ''}`);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      if (xhr.status === 200) return resolve();
      let message = `HTTP ${xhr.status}`;
      try {
        message = (JSON.parse(xhr.responseText) as { error?: string }).error ?? message;
      } catch {
        // not JSON: the status says enough
      }
      reject(new Error(message));
    };
    xhr.onerror = () => reject(new Error('the upload failed (network)'));
    xhr.send(file);
  });
}

/** A new image from a local file: createImage, then its file, with the upload's progress. */
export function ImageUpload({ onDone }: { onDone: () => void }) {
  const can = useCan();
  const [name, setName] = useState('');
  const [format, setFormat] = useState('qcow2');
  const [isPublic, setPublic] = useState(false);
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    setError(null);
    setNote(null);
    try {
      const d = await gql<{ createImage: { __typename: string; message?: string; image?: { id: string } } }>(
        `mutation($i: ImageInput!) { createImage(input: $i) { __typename ... on CreateImageSuccess { image { id } } ... on Error { message } } }`,
        { i: { name: name.trim(), diskFormat: format, visibility: isPublic ? 'public' : 'private' } },
      );
      const id = unwrap(d.createImage).image!.id;
      setProgress(0);
      await putFile(id, file, setProgress);
      setNote(`${name.trim()} uploaded`);
      onDone();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setProgress(null);
    }
  };
  return (
    <form onSubmit={submit} className="filters" aria-label="Upload an image">
      <label>
        Name
        <input required value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Format
        <select value={format} onChange={(e) => setFormat(e.target.value)}>
          <option>qcow2</option>
          <option>raw</option>
        </select>
      </label>
      {can('image:publicize') && (
        <label className="check">
          <input type="checkbox" checked={isPublic} onChange={(e) => setPublic(e.target.checked)} /> Public
        </label>
      )}
      <label>
        File
        <input type="file" required onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
      </label>
      <button type="submit" disabled={progress !== null}>Upload</button>
      {progress !== null && (
        <span>
          <progress max={1} value={progress} aria-label="Upload progress" /> {Math.round(progress * 100)} %
        </span>
      )}
      {note && <span aria-live="polite">{note}</span>}
      {error && <p role="alert" className="error">{error}</p>}
    </form>
  );
}
